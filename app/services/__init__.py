"""Domain operations shared by the pages, the API and the CLI.

Each takes the SQLAlchemy session, the acting user and plain values; it validates, changes objects and
flushes, but never commits: the route, command or job that called it commits once, or rolls back.
"""
