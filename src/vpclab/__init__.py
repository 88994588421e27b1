"""vpclab: see, test and tighten AWS VPC packet filtering (security groups, network ACLs, conntrack)."""

__version__ = "0.1.0"
