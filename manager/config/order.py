"""The order services start and stop in: dependency levels from `depends_on`, and the cycle check the
loader rejects a config with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from manager.config.spec import Config

__all__ = ["find_cycle", "start_order"]


def start_order(config: Config) -> list[list[str]]:
    """Service names grouped in dependency levels, each level in file order.

    Level 0 holds the services without dependencies; a service sits one level above its deepest
    dependency, so starting level by level (and stopping in reverse) respects every `depends_on`.
    Raises ValueError on an unknown dependency or a cycle (which `load_config` never lets through).
    """
    graph = {spec.name: spec.depends_on for spec in config.services}
    for name, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                raise ValueError(f"{name} depends on unknown service {dep!r}")
    cycle = find_cycle(graph)
    if cycle:
        raise ValueError("dependency cycle: " + " -> ".join(cycle))
    levels: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in levels:
            levels[name] = 1 + max((level(dep) for dep in graph[name]), default=-1)
        return levels[name]

    grouped: list[list[str]] = []
    for name in graph:
        depth = level(name)
        grouped.extend([] for _ in range(depth + 1 - len(grouped)))
        grouped[depth].append(name)
    return grouped


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """The first dependency cycle met walking the graph in order, as ["a", "b", "a"]; None if none.

    Edges to names missing from `graph` are ignored.
    """
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done or name not in graph:
            return None
        for dep in graph[name]:
            cycle = visit(dep, [*path, name])
            if cycle:
                return cycle
        done.add(name)
        return None

    for name in graph:
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None
