"""What people can do, once for chat, web and command line.

Each function takes the caller's transaction and the actor, asks the one
access policy (``domain.access``) and returns domain models; callers render.
"""
