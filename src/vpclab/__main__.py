"""`python -m vpclab` runs the command line."""

from vpclab.cli import main

main()
