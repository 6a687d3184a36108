"""Planning: declaration + observed state -> actions, and their renderings. Pure."""
