"""The daily habit for leaders: a few open customer mentions by DM each working day, at
each person's own local time, with Claim and Answer buttons that work as in the channels.
"""
