"""What the checkout holds, as the planner of either target needs it: content hashes of
build inputs (`hashing`) and the workspace read into the observed state (`workspace`)."""
