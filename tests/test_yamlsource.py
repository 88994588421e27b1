"""Lab YAML is parsed once, by libyaml when PyYAML has it, keeping the line of every key and item (issue 9, item 6)."""

import pytest
import yaml

from vpclab.lab import yamlsource
from vpclab.lab.yamlsource import LabError, parse

TEXT = """\
defaults: &rule {proto: tcp, ports: 22}
vpc:
  cidr: 198.18.0.0/16
security_groups:
  sg-a:
    ingress:
      - {<<: *rule, cidr: 198.18.1.0/24}
      - proto: udp
        ports: "53"
        cidr: 198.18.2.0/24
hosts:
  ha: {subnet: a, ip: 198.18.1.10, public: yes, ratio: 1.5, none: ~, on: [1, 2]}
"""


def test_the_c_loader_is_used_when_pyyaml_has_it():
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml")
    assert yamlsource.Loader is yaml.CSafeLoader


def test_the_text_is_parsed_once(monkeypatch):
    """Every mapping of the text becomes one node: parsing twice (compose, then safe_load) would make two."""
    made = []
    original = yaml.MappingNode.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(yaml.MappingNode, "__init__", counting)
    parse(TEXT, "lab.yaml")
    # the document, defaults, vpc, security_groups, sg-a, its two rules, hosts, ha (*rule is no new node)
    assert len(made) == 9


@pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
def test_both_loaders_give_safe_load_data_and_the_line_of_every_key_and_item(monkeypatch, loader):
    monkeypatch.setattr(yamlsource, "Loader", loader)
    source = parse(TEXT, "lab.yaml")
    assert source.data == yaml.safe_load(TEXT)
    assert source.lines[("security_groups", "sg-a", "ingress", 0)] == 7
    assert source.lines[("security_groups", "sg-a", "ingress", 1, "ports")] == 9
    assert source.lines[("hosts", "ha", "ip")] == 12
    assert source.line_of(("hosts", "ha", "ip", "nowhere")) == 12


@pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
@pytest.mark.parametrize("text,line,words", [
    ("lab: x\nhosts:\n\ta: 1\n", 3, "YAML indents with spaces, never tabs"),
    ("lab: x\nrule: {proto: tcp, cidr: ::/0}\n", 2, "write cidr: '::/0'"),
    ("a: 1\nb: 2\na: 3\n", 3, "a: this key appears twice"),
    ("a: &x [*x]\n", 1, "not valid YAML"),
    ("? [a, b]\n: 1\n", 1, "a key must be a plain name"),
])
def test_yaml_mistakes_are_located_and_the_obscure_ones_get_a_hint(monkeypatch, loader, text, line, words):
    monkeypatch.setattr(yamlsource, "Loader", loader)
    with pytest.raises(LabError) as error:
        parse(text, "lab.yaml")
    [problem] = error.value.problems
    assert problem.origin.line == line and words in str(problem), str(problem)
