"""Action and view ids, in one place so blocks and listeners cannot drift apart.

Button `value`s carry the mention key ("hackernews:123"); draft buttons carry the draft id.
"""

# Buttons on the mention message and in its thread.
CLAIM = "earshot.claim"
RELEASE = "earshot.release"
ANSWER = "earshot.answer"
ESCALATE = "earshot.escalate"
# The corrections menu (overflow) on the mention message: each option's value is
# "<choice>|<mention ref>" (E-42, or the key when it has no number), at most 75 characters.
CORRECT = "earshot.correct"
MOVE_CHOICE = "move"
NOT_COMPLAINT_CHOICE = "not_complaint"
IS_COMPLAINT_CHOICE = "is_complaint"
UNDO_MOVE_CHOICE = "undo_move"

# Buttons on a draft reply awaiting a publisher's review (issue: publishing guard rails).
APPROVE = "earshot.approve"
EDIT_DRAFT = "earshot.edit_draft"
REJECT = "earshot.reject"
RETRY_PUBLISH = "earshot.retry_publish"

# Modal callback ids.
ANSWER_VIEW = "earshot.answer_view"
ESCALATE_VIEW = "earshot.escalate_view"
MOVE_VIEW = "earshot.move_view"
EDIT_VIEW = "earshot.edit_view"
REJECT_VIEW = "earshot.reject_view"

# The leaders' daily habit: its controls in App Home.
HABIT_TIME = "earshot.habit_time"
HABIT_PAUSE = "earshot.habit_pause"
HABIT_STOP = "earshot.habit_stop"
HABIT_DEPARTMENTS = "earshot.habit_departments"
