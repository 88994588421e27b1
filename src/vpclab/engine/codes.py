"""Stable explanation codes: AWS Reachability Analyzer's where one fits, vpclab's own otherwise."""

# Reachability Analyzer codes
ENI_SG_RULES_MISMATCH = "ENI_SG_RULES_MISMATCH"          # no security group rule admits the packet
SUBNET_ACL_RESTRICTION = "SUBNET_ACL_RESTRICTION"        # a network ACL entry (or the * rule) denies it
NO_ROUTE_TO_DESTINATION = "NO_ROUTE_TO_DESTINATION"      # the route table has no route for it
IGW_PRIVATE_IP_ASSOCIATION = "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"  # no public IP to translate

# vpclab's own
SG_RULE_MATCH = "SG_RULE_MATCH"                          # admitted by a rule; a tracked entry is created if it can be
SG_RULE_MATCH_UNTRACKED = "SG_RULE_MATCH_UNTRACKED"      # admitted by a rule, flow untracked (judged on every packet)
SG_RULE_MATCH_STATELESS = "SG_RULE_MATCH_STATELESS"      # admitted by a rule, but the packet cannot open an entry
CONNTRACK_MATCH = "CONNTRACK_MATCH"                      # admitted by a tracked connection
CONNTRACK_EXPIRED = "CONNTRACK_EXPIRED"                  # its tracked connection timed out and no rule admits it
CONNTRACK_TABLE_FULL = "CONNTRACK_TABLE_FULL"            # a new flow, and the ENI's table is full
UNTRACKED_FLOW_RULE_REMOVED = "UNTRACKED_FLOW_RULE_REMOVED"  # an untracked flow whose admitting rule is gone
NACL_RULE_MATCH = "NACL_RULE_MATCH"                      # a network ACL entry allows it
NACL_NOT_EVALUATED = "NACL_NOT_EVALUATED_WITHIN_SUBNET"  # same subnet: NACLs do not apply
ROUTE_LOCAL = "ROUTE_LOCAL"                              # delivered by the VPC's local route
ROUTE_IGW = "ROUTE_INTERNET_GATEWAY"                     # through the internet gateway (1:1 translation)
ROUTE_VIA = "ROUTE_VIA_GATEWAY"                          # through a peering connection, VPN gateway or endpoint
NOT_FILTERED_SERVICE = "NOT_FILTERED_AMAZON_SERVICE"     # Amazon DNS, IMDS, Time Sync: never filtered
NO_HOST_AT_DESTINATION = "NO_HOST_AT_DESTINATION"        # no interface holds the destination address
SOURCE_DEST_CHECK = "SOURCE_DEST_CHECK"                  # the source address is not the sender's
BLACKHOLE_ROUTE = "BLACKHOLE_ROUTE"                      # the winning route's target is gone (state blackhole)
PEERING_NOT_ACTIVE = "PEERING_NOT_ACTIVE"                # the route's peering connection is not active
EIGW_INBOUND = "EGRESS_ONLY_GATEWAY_INBOUND"              # the internet cannot start a flow through an EIGW
NAT_NO_MAPPING = "NAT_GATEWAY_NO_MAPPING"                # inbound to a NAT gateway that answers no flow from inside
NAT_PROTOCOL = "NAT_GATEWAY_PROTOCOL"                    # NAT gateways carry TCP, UDP and ICMP only
NAT_PRIVATE_TO_IGW = "NAT_GATEWAY_PRIVATE_TO_IGW"        # a private NAT gateway's traffic routed to an IGW is dropped
NAT_TRANSLATION = "NAT_GATEWAY_TRANSLATION"              # the NAT gateway translated the packet
TGW_NO_ATTACHMENT = "TGW_NO_ATTACHMENT"                  # no attachment of the VPC to that TGW (in the subnet's zone)
ROUTE_TARGET_NOT_MODELLED = "ROUTE_TARGET_NOT_MODELLED"  # the route's target kind is not modelled yet
ROUTE_TARGET_MISSING = "ROUTE_TARGET_NOT_IN_SNAPSHOT"    # the route names an ENI or instance the snapshot lacks
