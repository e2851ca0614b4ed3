"""Resources per node kind: ranks, cores and walltime from the machine configuration."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from cztflow.cli import app
from cztflow.protocol import default_protocol
from cztflow.workflows.config import ConfigError, RunConfig, load_config
from cztflow.workflows.engines.base import EngineError, NodeTask
from cztflow.workflows.engines.vasp import VaspEngine
from cztflow.workflows.resources import neb_ranks_problem
from cztflow.workflows.validate import validate

CONFIG = """
vasp:
  command: "srun -n {ranks} vasp_std"
  ranks: 128
  walltime_seconds: 86400
resources:
  default: {ranks: 64, cores: 64}
  neb: {ranks: 130, cores: 130, walltime_seconds: 172800, queue: long}
  mlip: {walltime_seconds: 1800}
"""


@pytest.fixture
def config(tmp_path) -> RunConfig:
    path = tmp_path / "cztflow.yaml"
    path.write_text(CONFIG)
    return load_config(path)


def test_each_kind_gets_its_own_then_the_default_then_the_vasp_section(config):
    assert config.resources("neb") == {
        "ranks": 130,
        "cores": 130,
        "nodes": 1,
        "walltime_seconds": 172800,
        "queue": "long",
    }
    assert config.resources("relax") == {
        "ranks": 64,
        "cores": 64,
        "nodes": 1,
        "walltime_seconds": 86400,
        "queue": None,
    }
    # the open engines run on one core whatever the VASP defaults say
    assert config.resources("mlip") == {
        "ranks": 1,
        "cores": 1,
        "nodes": 1,
        "walltime_seconds": 1800,
        "queue": None,
    }
    assert config.resources("gpaw")["cores"] == 1
    assert config.vasp_command(kind="neb") == ["srun", "-n", "130", "vasp_std"]
    assert config.vasp_command(kind="static") == ["srun", "-n", "64", "vasp_std"]
    bare = RunConfig(vasp={**RunConfig().vasp, "command": "mpirun -np {ranks} vasp_std", "ranks": 16})
    assert bare.vasp_command(kind="bands") == ["mpirun", "-np", "16", "vasp_std"]
    assert bare.resources("bands")["cores"] == 16


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("resources: {nebs: {ranks: 10}}", "resources.nebs: unknown node kind"),
        ("resources: {neb: {rank: 10}}", "resources.neb.rank: unknown key"),
        ("resources: {neb: {ranks: -4}}", "resources.neb.ranks = -4: expected a positive whole number"),
        ("resources: {neb: {ranks: 2.5}}", "resources.neb.ranks = 2.5: expected a positive whole number"),
        ("resources: {neb: {queue: 3}}", "resources.neb.queue = 3: expected a queue name"),
        ("resources: [neb]", "resources must map node kinds"),
    ],
)
def test_bad_resources_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "cztflow.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_neb_ranks_must_divide_over_the_images():
    assert neb_ranks_problem(130, 5) is None
    assert neb_ranks_problem(None, 5) is None
    assert neb_ranks_problem(128, 5) == (
        "128 ranks do not divide over IMAGES = 5; use a multiple of 5, e.g. 125 or 130"
    )
    assert neb_ranks_problem(3, 5) == "3 ranks do not divide over IMAGES = 5; use a multiple of 5, e.g. 5"


def _neb_campaign(fig1_campaign, tmp_path):
    root = tmp_path / "camp"
    doc = json.loads((fig1_campaign / "campaign.json").read_text())
    node = next(n for n in doc["nodes"] if n["id"] == "neb/znte-111-3x3")
    shutil.copytree(fig1_campaign / node["id"], root / node["id"])
    (root / "campaign.json").write_text(json.dumps({**doc, "nodes": [dict(node, deps=[])]}))
    return root, node


def test_validate_with_the_configuration_checks_neb_ranks(fig1_campaign, tmp_path):
    root, _node = _neb_campaign(fig1_campaign, tmp_path)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(CONFIG)
    bad.write_text("vasp: {command: 'srun -n {ranks} vasp_std', ranks: 128}\n")
    assert validate(root, config=load_config(good)) == []
    lines = [f.line() for f in validate(root, config=load_config(bad))]
    assert lines == [
        "neb/znte-111-3x3: bad.yaml: resources: resources.neb.ranks: expected a multiple of IMAGES = 5; "
        "found 128 ranks do not divide over IMAGES = 5; use a multiple of 5, e.g. 125 or 130"
    ]
    runner = CliRunner()
    assert runner.invoke(app, ["validate", str(root)]).exit_code == 0
    result = runner.invoke(app, ["validate", str(root), "--config", str(bad)])
    assert result.exit_code == 1 and "use a multiple of 5, e.g. 125 or 130" in result.output


def test_the_vasp_engine_refuses_a_neb_rank_count_before_running(fig1_campaign, tmp_path):
    root, node = _neb_campaign(fig1_campaign, tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("vasp: {command: 'srun -n {ranks} vasp_std', ranks: 128}\n")
    machine = load_config(bad)
    task = NodeTask(root, node, default_protocol(), machine)
    with pytest.raises(
        EngineError, match=r"bad.yaml: resources.neb.ranks: 128 ranks do not divide over IMAGES = 5"
    ):
        VaspEngine(machine).check(task)
    good = tmp_path / "good.yaml"
    good.write_text(CONFIG)
    machine = load_config(good)
    VaspEngine(machine).check(NodeTask(root, node, default_protocol(), machine))
    settings = VaspEngine(machine).settings(NodeTask(root, node, default_protocol(), machine))
    assert settings["command"] == ["srun", "-n", "130", "vasp_std"]
    assert settings["resources"]["walltime_seconds"] == 172800
