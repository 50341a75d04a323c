"""What people read, built from the store's rows and the logs: command results and issues as terminal
text (`render`, `issues`), an issue as GitHub markdown (`export`), the page of charts (`html`) and the
top error patterns of the services' logs (`errors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from manager.reporting.export import export_issue
    from manager.reporting.issues import render_feedback_receipt, render_issue, render_issue_list
    from manager.reporting.render import render_result, render_status

_EXPORTS = {
    "export_issue": "export",
    "render_feedback_receipt": "issues",
    "render_issue": "issues",
    "render_issue_list": "issues",
    "render_result": "render",
    "render_status": "render",
}
__all__ = [
    "export_issue",
    "render_feedback_receipt",
    "render_issue",
    "render_issue_list",
    "render_result",
    "render_status",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
