"""The core: plans, prices, consent, budgets, the runner, journal and ledger; the library API (Studio).

May import: the foundation (messages, errors), backends and storage; never a front end."""
