"""`pojemnik init`: a new project with a working one-service stack, ready to deploy."""

from .make import Conflict, make_project, project_name

__all__ = ["Conflict", "make_project", "project_name"]
