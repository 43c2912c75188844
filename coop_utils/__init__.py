"""coop_utils: the zero-cost collaboration environment, agents, runner and analysis."""
