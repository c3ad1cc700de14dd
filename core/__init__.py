"""The neutral core: the common schema, the one Connector protocol and the error tree.

Every other package may import ``core``; ``core`` imports none of them.
"""
