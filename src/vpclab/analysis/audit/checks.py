"""The checks, each a small independent unit: id, title, usual severity, rationale, the AWS source (a section of
../shared/reference/*.md), the fix in one line, and the function that evaluates it with the engine."""

from __future__ import annotations

from vpclab.analysis.audit import egress, exposure, groups, nacl_paths, shadow, tracking
from vpclab.analysis.audit.finding import Check, Severity

CHECKS: tuple[Check, ...] = (
    Check("internet-admin-port", "Admin or database port reachable from the internet", Severity.HIGH,
          "A real reach from `internet` (public IP, routes, NACLs both ways, security groups) opens an admin or "
          "database port; a rule open to 0.0.0.0/0 on an ENI nothing reaches is reported low, one a NACL refuses "
          "not at all.", "aws-semantics.md §4.2; aws-routing-terraform.md §2",
          "restrict the rule to known addresses or remove it",
          lambda ctx: exposure.run(CHECKS_BY_ID["internet-admin-port"], ctx)),
    Check("egress-open-unneeded", "Egress open to everything", Severity.MEDIUM,
          "An ENI needs egress rules only for connections it starts; replies leave by connection tracking. "
          "An allow-all egress rule lets an intruder open anything (first seed article).",
          "aws-semantics.md §1.2, §2.1", "run `vpclab tighten` with flow logs and keep only what the ENIs start",
          lambda ctx: egress.run(CHECKS_BY_ID["egress-open-unneeded"], ctx)),
    Check("nacl-drops-replies", "NACL lets requests in but drops their replies", Severity.MEDIUM,
          "NACLs are stateless: a reply to a client's ephemeral port needs its own entry both ways; without it the "
          "service times out for those clients.", "aws-semantics.md §3.1, §3.4",
          "allow the client's ephemeral range for the replies",
          lambda ctx: nacl_paths.run_returns(CHECKS_BY_ID["nacl-drops-replies"], ctx)),
    Check("nacl-breaks-pmtud", "NACL breaks Path MTU Discovery", Severity.MEDIUM,
          "Where MTUs differ (the internet, VPN), a host learns the path MTU from ICMP type 3 code 4; a NACL that "
          "refuses it black-holes large packets.", "aws-semantics.md §3.5",
          "allow ICMP type 3 code 4 (ICMPv6 type 2) in",
          lambda ctx: nacl_paths.run_pmtud(CHECKS_BY_ID["nacl-breaks-pmtud"], ctx)),
    Check("sg-redundant-rule", "Security group rule covered by other rules", Severity.LOW,
          "Rules of an ENI's groups are unioned; a rule every packet of which another rule of the union admits "
          "changes no decision and hides the intent of the rule set.", "aws-semantics.md §1.2",
          "remove the covered rule",
          lambda ctx: shadow.run_sg(CHECKS_BY_ID["sg-redundant-rule"], ctx)),
    Check("nacl-shadowed-entry", "NACL entry that can never match", Severity.LOW,
          "NACL entries are evaluated lowest number first and the first match decides; an entry whose every packet "
          "an earlier entry decides never applies (a deny after an allow-all protects nothing).",
          "aws-semantics.md §3.1", "remove it, or renumber it before the entries it must precede",
          lambda ctx: shadow.run_nacl(CHECKS_BY_ID["nacl-shadowed-entry"], ctx)),
    Check("sg-unused", "Security group attached to no ENI", Severity.LOW,
          "A group on no ENI filters nothing (its rules are no exposure); it is clutter that may be attached by "
          "mistake.", "aws-semantics.md §1.2", "delete it",
          lambda ctx: groups.run_unused(CHECKS_BY_ID["sg-unused"], ctx)),
    Check("sg-default-in-use", "Default security group in use or with rules", Severity.LOW,
          "ENIs launched without a group get the VPC's default group; it should carry no rules and no ENI.",
          "aws-semantics.md §1.3", "move ENIs to their own groups; remove the default group's rules",
          lambda ctx: groups.run_default(CHECKS_BY_ID["sg-default-in-use"], ctx)),
    Check("sg-missing-reference", "Rule naming a deleted security group", Severity.MEDIUM,
          "A rule whose referenced group is deleted (or whose peering is) is stale: it admits no one.",
          "aws-semantics.md §1.4", "remove or repoint the rule",
          lambda ctx: groups.run_missing(CHECKS_BY_ID["sg-missing-reference"], ctx)),
    Check("sg-untracked-flow", "Untracked flows: revoking cuts them at once", Severity.INFO,
          "A TCP/UDP flow admitted by a 0.0.0.0/0 rule when the other direction allows 0.0.0.0/0 on all ports is "
          "not tracked: every packet is judged by the rules, so revoking the rule cuts it at once.",
          "aws-semantics.md §2.2, §2.4", "nothing to change; narrow the other direction to have them tracked",
          lambda ctx: tracking.run_untracked(CHECKS_BY_ID["sg-untracked-flow"], ctx)),
    Check("conntrack-revocation-grace", "Revoking a rule leaves live connections for days", Severity.LOW,
          "Tracked connections outlive the rule that admitted them until idle for the ENI's TCP established "
          "timeout (432,000 s by default): revoking a rule does not end an intruder's connection (second seed "
          "article).", "aws-semantics.md §2.4, §2.5",
          "lower the ENI's TCP established timeout (modify-network-interface-attribute)",
          lambda ctx: tracking.run_revocation(CHECKS_BY_ID["conntrack-revocation-grace"], ctx)),
)

CHECKS_BY_ID: dict[str, Check] = {c.id: c for c in CHECKS}
