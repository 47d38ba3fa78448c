"""The Judge: sentiment + complaint + department + reason, from any company's config."""

import dataclasses
from pathlib import Path

import pytest

from bot.judgment.judge import Judge, Judgment
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[brand]
terms = ["Acme"]
[departments.help]
channel = "#help"
keywords = ["agent", "phone"]
[departments.money]
channel = "#money"
keywords = ["refund", "charged", "invoice"]
[departments.parcels]
channel = "#parcels"
keywords = ["delivery", "package"]
examples = ["the courier never showed up"]
[routing]
default = "help"
[escalation]
channel = "#esc"
[summary]
channel = "#sum"
"""


@pytest.fixture(scope="module")
def judge(tmp_path_factory) -> Judge:
    path = tmp_path_factory.mktemp("cfg") / "earshot.toml"
    path.write_text(CONFIG)
    return Judge(load_settings(path, env={}))


def test_complaint_with_keywords(judge):
    j = judge.judge("@acme still no refund, I was charged twice")
    assert isinstance(j, Judgment)
    assert j.complaint and j.department == "money"
    assert j.reason.startswith("matched keywords: refund, charged")
    assert "complaint cues:" in j.reason
    assert j.sentiment < 0


def test_praise_is_not_a_complaint_and_goes_to_default(judge):
    j = judge.judge("Thank you Acme, wonderful service as always!")
    assert not j.complaint
    assert j.department == "help"
    assert j.reason == "no department keywords matched; default"
    assert j.sentiment > 0


def test_factual_complaint_without_negative_words(judge):
    j = judge.judge("package never arrived, 2 weeks now")
    assert j.complaint
    assert j.department == "parcels"


def test_reason_is_one_line(judge):
    j = judge.judge("agent hung up\non me\nagain, 3 hours on hold")
    assert "\n" not in j.reason


def test_judgment_is_frozen(judge):
    j = judge.judge("hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        j.complaint = True  # type: ignore[misc]


@pytest.mark.parametrize("name", ["airline", "retail"])
def test_example_configs_load_and_judge(name):
    settings = load_settings(ROOT / "config" / "examples" / f"{name}.toml", env={})
    j = Judge(settings).judge("nothing to see here")
    assert j.department == settings.default_department.name


def test_brand_words_are_the_one_word_names():
    from bot.judgment.judge import brand_words
    from bot.settings import BrandSettings
    brand = BrandSettings(name="United", terms=('"United Airlines"', "@united", "united.com",
                                                "#UnitedAirlines", '"Best Buy"'))
    assert brand_words(brand) == ("united", "unitedairlines")
