"""CITATION.cff and the licence files: present, parseable, saying what the README says."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_citation_cff_parses_with_required_keys():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors", "version", "license", "references"):
        assert key in cff, key
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == "0.1.0" and cff["license"] == "MIT"
    assert cff["authors"] == [{"name": "RLVR companion contributors"}]
    paper = cff["references"][0]
    assert [a["family-names"] for a in paper["authors"]] == ["Suk", "Duan"]
    assert "2510.08539" in str(paper)


def test_licences_name_the_split():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    content = (ROOT / "LICENSE-CONTENT").read_text()
    assert "CC BY 4.0" in content and "https://creativecommons.org/licenses/by/4.0/" in content
