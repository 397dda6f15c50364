"""Deals as what an interaction is about: labels with links for those who may see the deal,
"Deal #n" without a name for others, the subject picker's search by number or title."""

from __future__ import annotations

from crm.deals.subjects import SUBJECT
from crm.interactions import subjects


def test_interaction_subject_labels_name_visible_deals_only(app, desk):
    a1, b3 = desk["deals"]["A1"], desk["deals"]["B3"]
    pairs = [("deal", a1.id), ("deal", b3.id), ("deal", 999)]
    as_anna = subjects.describe(pairs, desk["anna"])
    assert as_anna == {
        ("deal", a1.id): ("A1 — Поставка труб", f"/deals/{a1.id}"),
        ("deal", b3.id): (f"Deal #{b3.id}", None),
    }
    assert subjects.describe(pairs, desk["viewer"])[("deal", b3.id)] == (
        "B3 — Big supply",
        f"/deals/{b3.id}",
    )


def test_subject_search_finds_the_users_deals_by_number_or_title(app, desk):
    d = desk["deals"]
    assert SUBJECT.search(desk["anna"], "pipes", 10) == [
        (d["A3"].id, "A3 — Won pipes"),
        (d["A2"].id, "A2 — Pipes extra"),
    ]
    assert SUBJECT.search(desk["anna"], "B", 10) == [(d["B1"].id, "B1 — Service plan")]
    assert SUBJECT.can_view(desk["anna"], d["B1"].id)
    assert not SUBJECT.can_view(desk["anna"], d["B3"].id)
    assert not SUBJECT.can_view(desk["anna"], 12345)


def test_interaction_list_links_to_the_deal(client, desk, login_as, make_interaction):
    anna = login_as(desk["anna"])
    a1 = desk["deals"]["A1"]
    make_interaction(anna, title="Про трубы", subject_type="deal", subject_id=a1.id)
    page = client.get(f"/interactions/?subject=deal:{a1.id}").get_data(as_text=True)
    assert "Про трубы" in page
    assert f'href="/deals/{a1.id}"' in page
