"""Contract comparison: which plan is cheapest for a customer, and from what usage
monthly beats annual. One computation behind three surfaces: ``plan_cost`` (the PLAN_COST UDF),
``xlquote compare`` and ``workbooks/compare.xlsx``. See docs/COMPARE.md."""

from .comparison import break_even, compare_profile, cost_curves
from .cost import evaluate_plans, plan_cost, plan_cost_grid
from .profile import ProfileError, UsageProfile, load_profile, monthly_counts, parse_profile
from .replay import compare_log
from .table import BreakEven, Comparison, PlanOption, PlanResult, candidate_plans

__all__ = [
    "BreakEven",
    "Comparison",
    "PlanOption",
    "PlanResult",
    "ProfileError",
    "UsageProfile",
    "break_even",
    "candidate_plans",
    "compare_log",
    "compare_profile",
    "cost_curves",
    "evaluate_plans",
    "load_profile",
    "monthly_counts",
    "parse_profile",
    "plan_cost",
    "plan_cost_grid",
]
