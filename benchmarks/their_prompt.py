"""Set our prompt beside the authors' on the same game state, section by section.

Plays one of our episodes (perfect play by default), takes what an agent is shown at the
start of a turn, and renders it twice: with our prompt (`coop prompt` prints the same) and
with the authors' prompt builder, fed the same state. Their builder is read from a checkout
of their repository that you name (`advtydv/ZeroCostCollaboration`); nothing of theirs is
stored here, and their text is never printed, only lengths.

    git clone https://github.com/advtydv/ZeroCostCollaboration /tmp/theirs
    python benchmarks/their_prompt.py --their-code /tmp/theirs

Their `agent.py` imports `openai` at load time; a stub stands in when it is not installed
(their builder never calls it). Agent ids are ours (agent_0 ...), so our agent_0 is their
agent_1. Prints a markdown table: each section's length in characters, ours and theirs, and
ours as a share of theirs; a section is within ±15% when the share is 85-115%.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import types
from collections import defaultdict, namedtuple
from pathlib import Path

from coop_utils.agents import PerfectAgent
from coop_utils.game.config import EnvConfig
from coop_utils.game.observation import Observation
from coop_utils.game.prompts import prompt_sections, render_messages
from coop_utils.run.runner import observation_at

AGENT_PY = "information_asymmetry_simulation/simulation/agent.py"
Piece = namedtuple("Piece", "name value")
# section -> the method of theirs that renders its body (in their prompt order)
BODIES = {
    "goal": "_get_agent_instructions",
    "board": "_format_revenue_board",
    "tasks": "_format_current_task",
    "information": "_format_information",
    "directory": "_format_directory",
    "messages": "_format_message_history",
    "notices": "_format_system_messages",
    "past_actions": "_format_past_actions",
    "thoughts": "_format_private_thoughts_history",
    "public": "_format_public_messages",
    "exchanges": "_format_exchange_section",
    "instructions": "_format_action_limit_info",
}


def their_agent_class(root: Path) -> type:
    if importlib.util.find_spec("openai") is None:
        sys.modules["openai"] = types.ModuleType("openai")
    path = root / AGENT_PY
    if not path.is_file():
        raise SystemExit(f"{path}: not found; --their-code names a checkout of their repository")
    spec = importlib.util.spec_from_file_location("their_agent", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Agent


def their_agent(cls: type, obs: Observation):
    """Their Agent, holding the state our observation shows (no constructor: it opens an API
    client)."""
    a = cls.__new__(cls)
    h = obs.history
    a.agent_id, a.mode, a.config = obs.agent, "llm", {"mode": "llm"}
    a.logger = logging.getLogger("theirs")
    a.agent_type = "policy" if obs.condition == "policy" else "neutral"
    a.custom_prompt_file = None
    a.simulation_config = {
        "rounds": obs.rounds,
        "show_full_revenue": obs.condition != "limited",
        "truncate_context": False,  # off in their run configuration (the history is ours)
    }
    a.communication_config = {"max_actions_per_turn": -1}
    a.simulation_manager = types.SimpleNamespace(
        config={"revenue": {"information_sharing": obs.share_bonus}}
    )
    a.revenue_system = types.SimpleNamespace(get_revenue=lambda _: int(obs.revenue))
    a.communication = types.SimpleNamespace(
        get_messages_for_agent=lambda _: [
            {"from": m.sender, "to": m.to, "content": m.content} for m in obs.messages
        ],
        get_system_messages=lambda _: [{"content": n.text} for n in obs.notices],
    )
    a.tasks = [
        {"id": t.task_id, "description": t.description, "required_info": list(t.pieces)}
        for t in obs.tasks
    ]
    a.completed_tasks = [None] * obs.tasks_done
    a.information = {Piece(p, v) for p, v in obs.holdings.items()}
    a.sent_information, a.sent_values, a.received_values = (
        defaultdict(set),
        defaultdict(dict),
        defaultdict(dict),
    )
    for r in h.sent:
        a.sent_information[r.counterpart].add(r.piece)
        a.sent_values[r.counterpart][r.piece] = r.value
    for r in h.received:
        a.received_values[r.counterpart][r.piece] = r.value
    a.requested_information = defaultdict(lambda: defaultdict(int))
    for to, by_piece in h.asked.items():
        a.requested_information[to].update(by_piece)
    a.ignored_requests = defaultdict(int)
    a.private_thoughts_history = [{"round": r, "thoughts": t} for r, t in obs.thoughts]
    return a


def their_state(obs: Observation) -> dict:
    directory: dict[str, list[str]] = {x: [] for x in obs.agents}
    for piece, holders in obs.directory.items():
        for x in holders:
            directory[x].append(piece)
    state = {
        "revenue_board": {e.agent: int(e.revenue) for e in obs.board},
        "information_directory": directory,
        "public_messages": [{"from": m.sender, "content": m.content} for m in obs.public],
    }
    if obs.condition != "limited":
        state["recent_exchanges"] = [
            {"round": x.round, "from": x.sender, "to": x.to, "pieces_count": x.count}
            for x in obs.exchanges
        ]
    return state


def their_sections(cls: type, obs: Observation) -> dict[str, int]:
    """Length of each section of their prompt: its header line (the line before the body,
    if any) and its body; identity and round are the first two lines."""
    agent, state = their_agent(cls, obs), their_state(obs)
    sent: list = []
    agent._call_llm = lambda messages, model=None: sent.extend(messages) or "{}"
    agent.take_turn(state, obs.round)
    system = next(m["content"] for m in sent if m["role"] == "system")
    user = next(m["content"] for m in sent if m["role"] == "user")
    bodies = {}
    for name, method in BODIES.items():
        real = getattr(agent, method)
        args = {"board": [state["revenue_board"]], "directory": [state["information_directory"]]}
        args |= {"public": [state["public_messages"]], "exchanges": [state]}
        args |= {"messages": [agent.communication.get_messages_for_agent(obs.agent)]}
        bodies[name] = real(*args.get(name, []))
        setattr(agent, method, lambda *_, _name=name: f"\x00{_name}\x00")
    marked = agent._build_prompt(state, obs.round)
    lines = marked.split("\n")
    out = {"system": len(system), "identity": len(lines[0])}
    out["round"] = len(next(x for x in lines[1:] if x.strip()))
    segments = marked.split("\x00")  # text, name, text, name, ...
    for k in range(1, len(segments), 2):
        name, before = segments[k], segments[k - 1]
        if name == "thoughts" and obs.condition == "limited":
            continue
        header = before.rstrip("\n").rsplit("\n", 1)[-1] if name not in ("goal",) else ""
        header = "" if name in ("exchanges", "instructions") else header
        body = bodies[name]
        if name == "instructions":  # their instructions run from here to the end
            rest = "".join(segments[k + 1 :]).replace("\x00", "")
            body = (body + rest).replace("\n\n\n", "\n\n").strip()
        out[name] = len(header) + (1 if header else 0) + len(body.strip("\n"))
    return out | {"user message": len(user)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--their-code", type=Path, required=True, help="checkout of their repo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--agent", type=int, default=0, help="our seat (their agent_{n+1})")
    ap.add_argument("--rounds", default="1,3")
    ap.add_argument("--conditions", default="baseline,incentive")
    args = ap.parse_args()
    cls = their_agent_class(args.their_code)
    for condition in args.conditions.split(","):
        config = EnvConfig.for_condition(condition)
        for rnd in map(int, args.rounds.split(",")):
            agents = [PerfectAgent() for _ in range(config.n_agents)]
            obs = observation_at(config, agents, args.seed, args.agent, rnd)
            messages = render_messages(obs)
            ours = dict(prompt_sections(messages)) | {"user message": messages[1]["content"]}
            theirs = their_sections(cls, obs)
            print(f"\n{condition}, round {rnd}, seed {args.seed}, our {obs.agent}\n")
            print("| section | ours | theirs | ours / theirs |\n|---|---:|---:|---:|")
            for name in theirs:
                o, t = len(ours.get(name, "")), theirs[name]
                share = f"{100 * o / t:.0f}%" if t else "—"
                print(f"| {name} | {o:,} | {t:,} | {share} |")


if __name__ == "__main__":
    main()
