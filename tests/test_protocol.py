from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
import yaml

from cztflow.protocol import REQUIRED_DECISIONS, default_protocol, load_protocol


@pytest.fixture
def raw():
    return yaml.safe_load(Path(default_protocol().source_file).read_text())


def test_stated_values_match_the_paper():
    p = default_protocol()
    assert p.encut == 450.0
    assert p.sigma == 0.05
    assert p.ediff == 1e-6
    assert p.force_tolerance == 0.03
    assert p.vacuum == 20.0
    assert p.surface_kpoints == (2, 2, 1)
    assert p.neb_images == 5
    assert p.settings["xc_functional"].value == "PBE"
    assert p.settings["pseudopotentials"].value == "PAW"


def test_locked_vasp_tags_are_the_stated_settings_plus_prec_and_lasph():
    assert default_protocol().locked_vasp_tags() == {
        "PREC": "Accurate",
        "LASPH": True,
        "GGA": "PE",
        "ENCUT": 450.0,
        "ISMEAR": 0,
        "SIGMA": 0.05,
        "EDIFF": 1e-6,
        "EDIFFG": -0.03,
        "IVDW": 11,
        "LCLIMB": True,
        "IMAGES": 5,
    }


def test_every_setting_has_a_source_and_numbers_have_units():
    for s in default_protocol().settings.values():
        assert s.source.startswith("§"), s.name
        if isinstance(s.value, float):
            assert s.unit, s.name


def test_decisions_record_what_the_paper_leaves_open():
    p = default_protocol()
    for name in REQUIRED_DECISIONS:
        assert len(p.decision(name).reason) > 30, name
    assert p.decision("pseudo_hydrogen").value["Zn"] == 1.5
    assert p.decision("pseudo_hydrogen").value["Te"] == 0.5
    assert p.decision("potcars").value["K"] == "K_sv"
    assert set(p.decision("adsorbate_reference").value.split()) <= {"bcc", "atom"}
    with pytest.raises(KeyError, match="has no decision 'nope'"):
        p.decision("nope")


def test_protocol_is_frozen():
    p = default_protocol()
    with pytest.raises(FrozenInstanceError):
        p.name = "x"
    with pytest.raises(TypeError):
        p.settings["encut"] = None


def test_hash_is_stable_and_tracks_content(tmp_path, raw):
    same = tmp_path / "same.yaml"
    # key order and formatting do not change the hash
    same.write_text(yaml.safe_dump(dict(reversed(list(raw.items()))), sort_keys=False))
    assert load_protocol(same).hash == default_protocol().hash
    raw["settings"]["encut"]["value"] = 500.0
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(raw))
    assert load_protocol(changed).hash != default_protocol().hash
    assert len(default_protocol().short_hash) == 12


def test_missing_setting_names_the_file(tmp_path, raw):
    del raw["settings"]["sigma"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match=r"bad.yaml: settings has no 'sigma' entry"):
        load_protocol(bad)


def test_decision_without_reason_is_rejected(tmp_path, raw):
    del raw["decisions"]["lreal"]["reason"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match="decision 'lreal' has no 'reason' entry"):
        load_protocol(bad)


def test_malformed_yaml_names_the_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("settings: [unclosed\n")
    with pytest.raises(ValueError, match=r"broken\.yaml: not valid YAML"):
        load_protocol(bad)


def test_neb_tags_are_locked_only_for_neb():
    p = default_protocol()
    assert "IMAGES" not in p.locked_vasp_tags("relax")
    assert p.locked_vasp_tags("neb")["IMAGES"] == 5
    assert p.locked_vasp_tags("relax")["ENCUT"] == 450.0


def test_calculation_kinds_carry_their_tags():
    p = default_protocol()
    assert p.calculation("relax-bulk").vasp["ISIF"] == 3
    assert p.calculation("relax").vasp["ISIF"] == 2
    assert p.calculation("workfunction").vasp["LVHAR"] is True
    assert p.calculation("bands").vasp["ICHARG"] == 11
    with pytest.raises(KeyError, match="has no calculation 'md'"):
        p.calculation("md")


def test_missing_calculations_section_names_the_file(tmp_path, raw):
    del raw["calculations"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match=r"bad.yaml: the file has no 'calculations' entry"):
        load_protocol(bad)
