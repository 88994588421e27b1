"""Built-in labs: one YAML file each, named after its `lab` id."""
