"""The `vpclab` command: exit statuses, --json shapes, and what the human output shows."""

import json
import re
import subprocess
import sys

from markupsafe import escape
from typer.testing import CliRunner

from vpclab import __version__
from vpclab.cli import app
from vpclab.lab.catalog import builtin_names

runner = CliRunner()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "vpclab", *args], capture_output=True, text=True, timeout=60)


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"vpclab {__version__}"


def test_lab_list_json_shape():
    result = cli("lab", "list", "--json")
    assert result.returncode == 0
    labs = json.loads(result.stdout)
    assert [lab["name"] for lab in labs] == builtin_names()
    assert all(set(lab) == {"name", "title"} and lab["title"] for lab in labs)


def test_lab_list_table_names_every_lab():
    result = runner.invoke(app, ["lab", "list"])
    assert result.exit_code == 0
    assert all(name in result.stdout for name in builtin_names())


def test_lab_run_json_follows_the_contract():
    result = cli("lab", "run", "beating-security-groups", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"lab", "backend", "ok", "steps"} <= set(data)
    assert data["lab"] == "beating-security-groups" and data["backend"] == "sim" and data["ok"] is True
    step = data["steps"][1]
    assert {"index", "action", "expect", "outcome", "ok", "packets"} <= set(step)
    assert (step["index"], step["action"], step["expect"], step["outcome"]) == (2, "connect", "established",
                                                                                 "established")
    syn = step["packets"][0]
    assert {"time", "src", "dst", "proto", "summary", "verdict", "trace"} <= set(syn)
    assert (syn["src"], syn["dst"], syn["proto"], syn["summary"]) == ("198.18.1.10:32768", "198.18.2.20:4321",
                                                                      "tcp", "SYN")
    first = syn["trace"][0]
    assert first == {"component": "sg", "id": "sg-testa", "host": "testa", "direction": "egress",
                     "decision": "allow", "code": "SG_RULE_MATCH", "rule": "egress rule 1",
                     "reason": first["reason"], "entry": first["entry"], "source": first["source"]}
    assert first["reason"].startswith("egress rule 1: all traffic to 0.0.0.0/0")
    # sg-testa omits `egress`, so its rule is AWS's default, cited at the group's line in the built-in lab
    assert re.fullmatch(r"builtin:beating-security-groups:\d+", first["source"]), first["source"]


def test_a_lab_whose_expectation_is_not_met_exits_1(tmp_path):
    from importlib import resources
    text = resources.files("vpclab.lab.builtin").joinpath("beating-security-groups.yaml").read_text()
    path = tmp_path / "wrong.yaml"
    path.write_text(text.replace("data: two, expect: delivered", "data: two, expect: dropped"))
    result = cli("lab", "run", str(path))
    assert result.returncode == 1
    assert "expected dropped" in result.stdout and "FAIL" in result.stdout
    as_json = json.loads(cli("lab", "run", str(path), "--json").stdout)
    assert as_json["ok"] is False and [s["index"] for s in as_json["steps"] if not s["ok"]] == [5]


def test_usage_errors_exit_2():
    assert cli("lab", "run").returncode == 2
    assert cli("lab", "run", "beating-security-groups", "--backend", "nowhere").returncode == 2
    assert cli("lab", "frobnicate").returncode == 2


def test_human_timeline_explains_every_dropped_packet():
    result = runner.invoke(app, ["lab", "run", "beating-security-groups"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert ("dropped at testb ingress: sg-testb has no ingress rule for tcp/4321 from 198.18.1.10 "
            "and no tracked connection") in result.stdout
    assert "PASS" in result.stdout


def test_verbose_shows_every_packet_with_its_trace_and_the_conntrack_tables():
    result = runner.invoke(app, ["lab", "run", "beating-security-groups", "--verbose"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "SYN-ACK" in result.stdout and "CONNTRACK_MATCH" in result.stdout and "NACL_RULE_MATCH" in result.stdout
    assert "conntrack testb: tcp 198.18.1.10:32768 → 198.18.2.20:4321  ESTABLISHED" in result.stdout


def test_lab_show_prints_the_network_rules_and_steps():
    result = runner.invoke(app, ["lab", "show", "nacl-stateless"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for words in ("web-acl", "32768-60999", "sg-web", "tcp 80 from 198.18.0.0/16", "198.18.2.20", "Steps"):
        assert words in result.stdout, words


def test_demo_runs_every_builtin_lab():
    result = runner.invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert result.stdout.count("PASS") == len(builtin_names())


def test_help_is_available_everywhere():
    for args in ([], ["lab"], ["lab", "run"], ["lab", "list"], ["lab", "show"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.stdout


def test_the_readme_shows_what_the_command_really_prints():
    from pathlib import Path
    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    shown = readme.split("`vpclab lab run beating-security-groups` prints:\n\n```\n", 1)[1].split("\n```", 1)[0]
    printed = cli("lab", "run", "beating-security-groups").stdout.rstrip()
    assert shown == printed


def test_kernel_backend_without_root_exits_3_saying_what_to_do(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = runner.invoke(app, ["lab", "run", "beating-security-groups", "--backend", "kernel"])
    assert result.exit_code == 3
    assert "needs root" in result.stderr and "sudo" in result.stderr


def test_kernel_backend_without_nftables_exits_3_naming_the_package(monkeypatch):
    import shutil
    real = shutil.which
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("shutil.which", lambda tool: None if tool == "nft" else real(tool))
    result = runner.invoke(app, ["lab", "clean"])
    assert result.exit_code == 3 and "apt-get install nftables" in result.stderr


def test_icmp_tool_rejects_bad_input_with_exit_2():
    result = runner.invoke(app, ["icmp", "--send-request", "not-an-ip"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_step_descriptions_show_everything_that_decides_the_outcome(tmp_path):
    """Issue 9: ICMP type and code, identifier and sequence, and a chosen source port are part of a step's line."""
    lab = tmp_path / "d.yaml"
    lab.write_text("""\
lab: d
title: descriptions
vpc: {cidr: 198.18.0.0/16}
subnets: {a: {cidr: 198.18.1.0/24}}
security_groups: {sg: {}}
hosts:
  ha: {subnet: a, ip: 198.18.1.10, security_groups: [sg]}
  hb: {subnet: a, ip: 198.18.1.20, security_groups: [sg]}
steps:
  - icmp: {from: ha, to: hb, type: echo-reply, code: 0, id: 9, seq: 3}
  - ping: {from: ha, to: hb, id: 7, seq: 2}
  - connect: {from: ha, to: hb, port: 22, sport: 40000}
""")
    data = json.loads(cli("lab", "run", str(lab), "--json").stdout)
    assert [s["description"] for s in data["steps"]] == [
        "icmp echo-reply code 0 ha → hb id 9 seq 3", "ping ha → hb id 7 seq 2", "connect ha → hb:22 from port 40000"]


def test_demo_wraps_the_about_text_instead_of_breaking_it(tmp_path):
    result = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert '"Control subnet traffic with network ACLs"' in result.output  # one line in the output, two in the file


def test_html_and_pcap_to_an_unwritable_path_are_exit_2_with_the_path_named(tmp_path) -> None:
    """Bad input gets a clear error, never a traceback: a report file that cannot be written names the option and
    the path, exit 2, before the lab runs."""
    missing = tmp_path / "no-such-folder" / "out"
    for option, name in (("--html", "r.html"), ("--pcap", "r.pcapng")):
        result = runner.invoke(app, ["lab", "run", "beating-security-groups", option, str(missing / name)])
        assert result.exit_code == 2, result.output
        assert f"{option} {missing / name}: cannot be written" in result.output
        assert "Traceback" not in result.output


def test_html_is_written_from_the_json_the_command_prints(tmp_path) -> None:
    """`--html` beside `--json`: the file is the report of the same data (its title names the lab, every step's
    description appears), and the JSON on stdout is unchanged by the option."""
    out = tmp_path / "lab.html"
    plain = runner.invoke(app, ["lab", "run", "nacl-stateless", "--json"])
    with_html = runner.invoke(app, ["lab", "run", "nacl-stateless", "--json", "--html", str(out)])
    assert with_html.exit_code == plain.exit_code == 0
    data = json.loads(plain.stdout)
    assert json.loads(with_html.stdout) == data  # "wrote FILE" goes to stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "nacl-stateless" in html
    for step in data["steps"]:
        assert str(escape(step["description"])) in html
