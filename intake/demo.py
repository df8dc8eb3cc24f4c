"""Demo intakes, one or more in every state, for `manage.py seed_demo`.

Each intake is posted the way the page posts it: its data is validated by IntakeForm (as a draft
or for submission) and then goes through the real services, so triage, use-case registration,
audit events and notifications are the product's own. Data the form refuses stops the seed with
the form's errors instead of leaving half a demo.

States: two drafts (one half-filled); three triaged and waiting for review; two fast-tracked
(accepted on submission); one accepted after review by the council chair; one rejected by a
platform admin; one withdrawn by its requester. There is no demo intake in "submitted":
submission triages at once, in the same transaction, so that state only exists for an instant.

An intake is looked up by (team, name) first, so a second run writes nothing.
"""

from aifinops.core.demo import demo_user

from .forms import DRAFT, SUBMIT, IntakeForm
from .models import IntakeRequest, IntakeStatus, ReviewPath
from .services import intake_accept, intake_reject, intake_save, intake_submit, intake_withdraw

# What happens to each intake after it is saved.
KEEP_DRAFT = "draft"  # saved, never submitted
AWAIT_REVIEW = "review"  # submitted, triaged as review required, left for the council
FAST_TRACK = "fast_track"  # submitted, low risk: accepted on the spot by the system
ACCEPT = "accept"  # submitted, review required, then accepted by `decider`
REJECT = "reject"  # submitted, review required, then rejected by `decider` with `note`
WITHDRAW = "withdraw"  # submitted, review required, then withdrawn by its requester with `note`

# Fields every complete intake posts unless it says otherwise (the form's select defaults).
DEFAULTS = {
    "user_audience": "internal",
    "data_classification": "internal",
    "personal_data": False,
    "customer_impact": "none",
    "autonomy_level": "assistive",
    "environment": "development",
    "currency": "USD",
}


def _intake(requester, outcome, data, *, decider=None, note=""):
    return {
        "requester": requester,
        "outcome": outcome,
        "data": {**DEFAULTS, **data},
        "decider": decider,
        "note": note,
    }


INTAKES = (
    # Drafts.
    _intake(
        "requester",
        KEEP_DRAFT,
        {
            # Half-filled: a first idea, saved before the owners, models and numbers are known.
            "name": "Chat tone coach",
            "purpose": "Suggests a warmer or clearer wording for a chat reply before the agent sends it.",
            "team": "customer-support",
            "data_classification": "confidential",
            "tag_function": "customer_support",
        },
    ),
    _intake(
        "requester",
        KEEP_DRAFT,
        {
            # Nearly ready: everything filled in, still waiting on the technical owner's estimate check.
            "name": "Warranty claim document checker",
            "proposed_key": "warranty-claim-checker",
            "purpose": "Reads the receipts and photos attached to warranty claims and lists what is missing.",
            "problem": "A third of warranty claims bounce back to the customer at least once for a "
            "missing receipt or serial number, which adds four days on average.",
            "team": "customer-support",
            "business_owner": "mhernandez",
            "technical_owner": "owner",
            "expected_users": "35",
            "data_classification": "confidential",
            "personal_data": True,
            "customer_impact": "indirect",
            "ai_models": ["openai/gpt-4.1-mini"],
            "task_kind": "extraction",
            "expected_calls_per_month": "6000",
            "input_tokens_per_call": "3000",
            "output_tokens_per_call": "300",
            "expected_monthly_cost": "10.00",
            "value_metric": "Claim round trips avoided",
            "value_per_outcome": "6.00",
            "outcomes_per_month": "1800",
            "success_metric": "Claims needing a second contact down from 33 % to 10 %",
            "autonomy_level": "human_in_the_loop",
            "tag_function": "customer_support",
            "tag_workflow": "Warranty claims",
            "tag_product": "Support desk",
            "tag_customer-segment": "all-customers",
        },
    ),
    # Triaged, waiting for review.
    _intake(
        "requester",
        AWAIT_REVIEW,
        {
            # Customer-facing with personal data, and a frontier model for a drafting task.
            "name": "Order status chat assistant",
            "proposed_key": "order-status-chat",
            "purpose": "Answers customers' where-is-my-order questions in the help-centre chat, from the "
            "order and shipping systems, and hands over to an agent when it cannot.",
            "problem": "Order status questions are 40 % of chat volume and take agents four minutes each "
            "for an answer the systems already hold.",
            "team": "customer-support",
            "business_owner": "mhernandez",
            "technical_owner": "cdubois",
            "user_audience": "external",
            "expected_users": "25000",
            "data_classification": "confidential",
            "personal_data": True,
            "customer_impact": "customer_facing",
            "ai_models": ["openai/gpt-4.1"],
            "task_kind": "drafting",
            "model_justification": "Its answers reach customers with no agent in between. On 500 past "
            "chats GPT-4.1 kept to the privacy and refund policy in 98 % of answers against 91 % for "
            "GPT-4.1 mini; we will test mini again after the pilot.",
            "expected_calls_per_month": "60000",
            "input_tokens_per_call": "3000",
            "output_tokens_per_call": "400",
            "expected_monthly_cost": "600.00",
            "value_metric": "Chats resolved without an agent",
            "value_per_outcome": "3.20",
            "outcomes_per_month": "24000",
            "success_metric": "40 % of order status chats resolved without an agent, CSAT at or above 4.4",
            "autonomy_level": "assistive",
            "tag_function": "customer_support",
            "tag_workflow": "Chat support",
            "tag_product": "Help centre",
            "tag_customer-segment": "all-customers",
        },
    ),
    _intake(
        "kyamamoto",
        AWAIT_REVIEW,
        {
            # An autonomous agent that emails customers and writes to the ERP, under a spend cap.
            "name": "Overdue invoice collections agent",
            "proposed_key": "collections-agent",
            "purpose": "Sends reminders for overdue invoices, answers payment questions and sets up payment "
            "plans within policy, escalating disputes to the collections team.",
            "problem": "Two collectors chase 1,200 overdue invoices a month by hand; days sales "
            "outstanding for SMB customers is 52 against a target of 40.",
            "team": "finance-operations",
            "business_owner": "kyamamoto",
            "technical_owner": "sgupta",
            "expected_users": "4",
            "data_classification": "confidential",
            "personal_data": True,
            "customer_impact": "customer_facing",
            "ai_models": ["anthropic/claude-sonnet-4-20250514"],
            "task_kind": "drafting",
            "expected_calls_per_month": "12000",
            "input_tokens_per_call": "6000",
            "output_tokens_per_call": "800",
            "expected_monthly_cost": "400.00",
            "value_metric": "Overdue invoices collected without a collector",
            "value_per_outcome": "18.00",
            "outcomes_per_month": "700",
            "success_metric": "SMB days sales outstanding down from 52 to 42 within two quarters",
            "autonomy_level": "autonomous_agent",
            "tool_permissions": "read ERP receivables\nread CRM billing contacts\n"
            "send email to customer billing contacts\ncreate payment plan in ERP (up to 3 instalments)",
            "external_actions": True,
            "run_frequency": "daily",
            "requested_spend_cap": "600.00",
            "tag_function": "finance",
            "tag_workflow": "Collections",
            "tag_customer-segment": "smb",
        },
    ),
    _intake(
        "requester",
        AWAIT_REVIEW,
        {
            # A model not in the catalog, and more than $5,000 a month.
            "name": "Multilingual ticket translation",
            "proposed_key": "ticket-translation",
            "purpose": "Translates incoming tickets into English for agents and their replies back into "
            "the customer's language, in 14 languages.",
            "problem": "Tickets in languages other than English, French and Spanish wait for one of three "
            "agents who speak them, or for an outside agency at 0.12 USD a word.",
            "team": "customer-support",
            "business_owner": "mhernandez",
            "technical_owner": "jchen",
            "expected_users": "180",
            "data_classification": "confidential",
            "personal_data": True,
            "customer_impact": "indirect",
            "unlisted_model": "Cohere Command A",
            "task_kind": "formatting",
            "expected_calls_per_month": "400000",
            "input_tokens_per_call": "1500",
            "output_tokens_per_call": "1200",
            "expected_monthly_cost": "6300.00",
            "value_metric": "Agency words no longer bought",
            "value_per_outcome": "0.12",
            "outcomes_per_month": "90000",
            "success_metric": "Agency translation spend to zero; first reply in every language under 4 hours",
            "autonomy_level": "human_in_the_loop",
            "tag_function": "customer_support",
            "tag_workflow": "Ticket reply",
            "tag_product": "Support desk",
            "tag_customer-segment": "all-customers",
        },
    ),
    # Accepted on submission: low risk, no review.
    _intake(
        "requester",
        FAST_TRACK,
        {
            "name": "Support macro deduplicator",
            "proposed_key": "macro-deduplicator",
            "purpose": "Finds duplicate and outdated support macros and proposes which to merge or retire.",
            "problem": "The support desk has 1,400 macros, many near-duplicates, so agents pick stale ones.",
            "team": "customer-support",
            "business_owner": "mhernandez",
            "technical_owner": "owner",
            "expected_users": "3",
            "ai_models": ["openai/gpt-4.1-nano"],
            "task_kind": "classification",
            "expected_calls_per_month": "20000",
            "input_tokens_per_call": "2000",
            "output_tokens_per_call": "200",
            "expected_monthly_cost": "15.00",
            "value_metric": "Macros merged or retired",
            "value_per_outcome": "4.00",
            "outcomes_per_month": "150",
            "success_metric": "Macro library under 600 entries by the end of the quarter",
            "tag_function": "customer_support",
            "tag_workflow": "Macro maintenance",
            "tag_customer-segment": "internal",
        },
    ),
    _intake(
        "requester",
        FAST_TRACK,
        {
            "name": "Weekly support trends digest",
            "proposed_key": "support-trends-digest",
            "purpose": "Summarises last week's closed tickets by theme, volume and trend for the support "
            "leads' Monday meeting.",
            "problem": "Team leads spend half a day each week building the trends slide by hand.",
            "team": "customer-support",
            "business_owner": "mhernandez",
            "technical_owner": "cdubois",
            "expected_users": "8",
            "ai_models": ["anthropic/claude-3-5-haiku-20241022"],
            "task_kind": "short_summary",
            "expected_calls_per_month": "5000",
            "input_tokens_per_call": "4000",
            "output_tokens_per_call": "300",
            "expected_monthly_cost": "25.00",
            "value_metric": "Team-lead hours saved",
            "value_per_outcome": "55.00",
            "outcomes_per_month": "16",
            "success_metric": "Digest ready every Monday by 9:00 with no manual work",
            "tag_function": "customer_support",
            "tag_workflow": "Support reporting",
            "tag_customer-segment": "internal",
        },
    ),
    # Accepted after review by the council chair.
    _intake(
        "ewilson",
        ACCEPT,
        {
            "name": "Customer release notes drafter",
            "proposed_key": "release-notes-drafter",
            "purpose": "Drafts the monthly customer release notes from the shipped tickets; product "
            "marketing edits and publishes them.",
            "problem": "Release notes go out two weeks late because three product managers write them "
            "from scratch.",
            "team": "product",
            "business_owner": "ewilson",
            "technical_owner": "sgupta",
            "expected_users": "12",
            "customer_impact": "indirect",
            "ai_models": ["openai/gpt-4.1-mini"],
            "task_kind": "drafting",
            "expected_calls_per_month": "400",
            "input_tokens_per_call": "20000",
            "output_tokens_per_call": "1500",
            "expected_monthly_cost": "10.00",
            "value_metric": "Product-manager hours saved",
            "value_per_outcome": "80.00",
            "outcomes_per_month": "20",
            "success_metric": "Release notes published within 3 working days of each release",
            "autonomy_level": "human_in_the_loop",
            "tag_function": "product",
            "tag_workflow": "Release communication",
            "tag_product": "Core app",
            "tag_customer-segment": "all-customers",
        },
        decider="chair",
        note="Accepted: product marketing edits every note before it is published. "
        "Check the edit rate at the pilot gate.",
    ),
    # Rejected with a reason by a platform admin.
    _intake(
        "aokafor",
        REJECT,
        {
            "name": "Competitor pricing watcher",
            "proposed_key": "competitor-pricing-watcher",
            "purpose": "Browses competitors' pricing pages every night and writes a brief of what changed "
            "for the deal desk.",
            "problem": "Reps learn of competitors' price changes from prospects, in the middle of a deal.",
            "team": "sales-engineering",
            "business_owner": "aokafor",
            "technical_owner": "jchen",
            "expected_users": "60",
            "data_classification": "public",
            "ai_models": ["openai/o3-pro"],
            "task_kind": "analysis",
            "model_justification": "Pricing pages are laid out differently on every site and change "
            "often; o3-pro read them correctly where smaller models missed tiered prices.",
            "expected_calls_per_month": "3000",
            "input_tokens_per_call": "30000",
            "output_tokens_per_call": "3000",
            "expected_monthly_cost": "2600.00",
            "value_metric": "Deals with competitor pricing known up front",
            "value_per_outcome": "120.00",
            "outcomes_per_month": "40",
            "success_metric": "Win rate against the two main competitors up 3 points",
            "autonomy_level": "supervised_agent",
            "tool_permissions": "browse public web pages\nwrite briefs to the deal-desk channel",
            "run_frequency": "daily",
            "requested_spend_cap": "3000.00",
            "tag_function": "sales",
            "tag_workflow": "Competitive intelligence",
            "tag_customer-segment": "mid-market",
        },
        decider="admin",
        note="Rejected: legal does not allow automated scraping of competitors' sites (their terms of "
        "use forbid it), and o3-pro is restricted for a daily summary. The market-intelligence "
        "vendor already sends pricing changes; resubmit with a mid-tier model summarising that feed.",
    ),
    # Withdrawn by its requester after triage.
    _intake(
        "requester",
        WITHDRAW,
        {
            "name": "Call sentiment escalation alerts",
            "proposed_key": "call-sentiment-alerts",
            "purpose": "Listens to live support calls and alerts a team lead when a caller grows angry or "
            "mentions cancelling.",
            "problem": "Team leads hear about difficult calls only after the customer has complained.",
            "team": "customer-support",
            "business_owner": "mhernandez",
            "technical_owner": "owner",
            "expected_users": "15",
            "data_classification": "restricted",
            "personal_data": True,
            "customer_impact": "indirect",
            "ai_models": ["azure-openai/gpt-4o-mini"],
            "task_kind": "classification",
            "expected_calls_per_month": "9000",
            "input_tokens_per_call": "5000",
            "output_tokens_per_call": "50",
            "expected_monthly_cost": "10.00",
            "value_metric": "Escalations caught during the call",
            "value_per_outcome": "25.00",
            "outcomes_per_month": "120",
            "success_metric": "Complaints after a phone call down 20 %",
            "tag_function": "customer_support",
            "tag_workflow": "Phone support",
            "tag_product": "Support desk",
            "tag_customer-segment": "enterprise",
        },
        note="Withdrawn: the Support call summarizer pilot already scores sentiment; we will ask its "
        "owner to add live alerts instead of starting a second use case.",
    ),
)


def _valid_values(spec, requester):
    """The form's cleaned data for this intake, or an error that shows why the form refused it."""
    data = spec["data"]
    mode = DRAFT if spec["outcome"] == KEEP_DRAFT else SUBMIT
    form = IntakeForm(data, user=requester, mode=mode)
    if not form.is_valid():
        raise ValueError(f"Demo intake “{data['name']}” does not validate ({mode}): {form.errors.as_json()}")
    return form.cleaned_data


def _check(intake, status, review_path):
    """Stop the seed if the product no longer treats this intake as the demo means it to."""
    if intake.status != status or intake.review_path != review_path:
        raise ValueError(
            f"Demo intake “{intake.name}” ended {intake.status} on path {intake.review_path or '-'}, "
            f"expected {status} on path {review_path or '-'}: change its data or its outcome."
        )


def _create(spec):
    requester = demo_user(spec["requester"])
    intake = intake_save(actor=requester, values=_valid_values(spec, requester))
    outcome = spec["outcome"]
    if outcome == KEEP_DRAFT:
        return intake

    intake = intake_submit(actor=requester, intake=intake)
    if outcome == FAST_TRACK:
        _check(intake, IntakeStatus.ACCEPTED, ReviewPath.FAST_TRACK)
        return intake
    _check(intake, IntakeStatus.TRIAGED, ReviewPath.REVIEW)
    if outcome == ACCEPT:
        intake = intake_accept(actor=demo_user(spec["decider"]), intake=intake, note=spec["note"])
    elif outcome == REJECT:
        intake = intake_reject(
            actor=demo_user(spec["decider"]), intake=intake, reason=spec["note"], confirm=True
        )
    elif outcome == WITHDRAW:
        intake = intake_withdraw(actor=requester, intake=intake, note=spec["note"])
    return intake


def seed(*, stdout):
    existing = set(IntakeRequest.objects.values_list("team__slug", "name"))
    created = {}
    for spec in INTAKES:
        if (spec["data"]["team"], spec["data"]["name"]) in existing:
            continue
        intake = _create(spec)
        created[intake.status] = created.get(intake.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in created.items()) or "none"
    stdout.write(f"  intake: {sum(created.values())} created ({summary}), {len(INTAKES)} in the demo")
