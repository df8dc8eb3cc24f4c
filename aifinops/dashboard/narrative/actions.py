"""The narrative's sections on sprawl, slow governance and the decisions needed (narrative.py
writes the others and puts them together)."""

from collections import defaultdict

from django.urls import reverse

from .text import Sentence, _names, _pct

SLOW_DAYS = 14
DECISION_VERBS = {
    "Budget increase": "Approve or reject the budget increase requests",
    "Stage move": "Decide the stage moves asked for",
    "Intake decision": "Accept or reject the intakes triaged for review",
    "Council item": "Decide at the council the items on its agenda",
    "Funding request": "Put on the council's agenda the funding requests for",
}


def _budget_state(row) -> str:
    if row["state"] == "at_risk":
        return f"projected to reach {_pct(row['projected'] / row['amount'])}"
    return f"over, at {_pct(row['actual'] / row['amount'])}"


def _waited(days) -> str:
    return "less than a day" if not days else f"{days} day{'s' if days != 1 else ''}"


# Where sprawl exists.


def sprawl(w):
    ov, un = w.f["overlap"], w.f["unowned"]
    out = []
    pairs = defaultdict(list)
    for r in ov.in_currency():
        pairs[r["team"], r["tier"]].append(r["provider"])
    if pairs:
        examples = sorted(pairs.items(), key=lambda kv: -len(kv[1]))[:2]
        out.append(
            Sentence(
                f"{len(pairs)} team-and-tier pair{'s pay' if len(pairs) > 1 else ' pays'} more than one "
                "provider "
                "for the same tier of model, for example "
                + _names(f"{team} for {tier.lower()} models ({_names(p)})" for (team, tier), p in examples)
                + ". Some of it is deliberate fallback; the rest is volume discount left on the table.",
                [w.board("overlap", "Vendor overlap")],
            )
        )
    h = un.headline
    if h["unattributed"] or h["unowned"]:
        text = (
            f"{w.m(h['unattributed'])} ({_pct(h['unattributed_share'])}) of AI spend is attributed to no use "
            "case"
        )
        owners = [r for r in un.in_currency() if r["kind"] == "Unowned"]
        if owners:
            text += (
                f", and {w.m(h['unowned'])} goes to use cases missing a named owner ("
                + _names(f"{r['what']}: no {r['missing']}" for r in owners)
                + ")"
            )
        out.append(
            Sentence(
                text + ".",
                [
                    w.board("unowned", "Unattributed and unowned spend"),
                    ("Unattributed spend", reverse("showback:unattributed")),
                ],
            )
        )
    if not out:
        out.append(
            Sentence(
                "No sprawl shows: every team buys each tier from one provider, and all spend has an owner.",
                [],
            )
        )
    return out


# Where governance is slow.


def governance(w):
    items = w.f["decisions"].rows
    if not items:
        return [Sentence("Nothing is waiting for a decision.", [w.board("decisions", "Decisions waiting")])]
    oldest = items[0]
    kinds = defaultdict(int)
    for r in items:
        kinds[r["kind"].lower()] += 1
    text = (
        f"{len(items)} item{'s wait' if len(items) > 1 else ' waits'} for a decision ("
        + _names(f"{n} {k}{'s' if n > 1 else ''}" for k, n in kinds.items())
        + f"). The oldest, {oldest['kind'].lower()} “{oldest['subject']}”, has waited "
        f"{_waited(oldest['days'])} "
        f"for {oldest['decided_by'][0].lower()}{oldest['decided_by'][1:]}."
    )
    slow = [r for r in items if r["days"] >= SLOW_DAYS]
    if slow:
        text += f" {len(slow)} {'have' if len(slow) > 1 else 'has'} waited {SLOW_DAYS} days or more."
    return [Sentence(text, [w.board("decisions", "Decisions waiting"), (oldest["subject"], oldest["url"])])]


# What decisions are needed.


def decisions(w):
    out = []
    for r in w.f["build_vs_buy"].rows:
        out.append(
            Sentence(
                f"Review build versus buy for {r['use_case']}: its model spend runs at "
                f"{w.m(r['annualised'], r['currency'])} "
                f"a year, {_pct(r['of_threshold'])} of the {w.m(r['threshold'], r['currency'])} threshold.",
                [(r["use_case"], r["url"]), w.board("build_vs_buy", "Build-versus-buy reviews")],
            )
        )
    over = [r for r in w.f["budget"].rows if r["state"] in ("over", "capped", "at_risk")]
    if over:
        out.append(
            Sentence(
                "Decide whether to raise, hold or cut: "
                + _names(
                    f"the {r['target']} {r['kind'].lower()} ({_budget_state(r)} of its budget)" for r in over
                )
                + ".",
                [
                    w.board("budget", "Spend against budget"),
                    ("Budgets", reverse("showback:budget_list")),
                ],
            )
        )
    waiting = w.f["decisions"].rows
    for kind in DECISION_VERBS:
        mine = [r for r in waiting if r["kind"] == kind]
        if mine:
            out.append(
                Sentence(
                    f"{DECISION_VERBS[kind]}: " + _names(r["subject"] for r in mine) + ".",
                    [(r["subject"], r["url"]) for r in mine[:3]],
                )
            )
    losing = [r for r in w.f["unit_economics"].in_currency() if r["viable"] is False]
    if losing:
        out.append(
            Sentence(
                "Decide the future of "
                + _names(r["use_case"] for r in losing)
                + ": each outcome costs more than it is worth.",
                [(r["use_case"], r["url"]) for r in losing[:3]],
            )
        )
    if not out:
        out.append(Sentence("No decision is due: budgets hold, nothing waits, no use case needs review.", []))
    return out
