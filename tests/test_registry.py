import pytest

from swaplab.core.errors import SwaplabError
from swaplab.core.registry import Registry


def test_register_get_names() -> None:
    reg: Registry[str] = Registry("thing")

    @reg.register("b")
    def build_b(*, value: int = 1) -> str:
        return f"b{value}"

    reg.register("a")(lambda: "a")
    assert reg.names() == ["a", "b"]
    assert reg.get("b", value=3) == "b3"


def test_duplicate_and_unknown_names() -> None:
    reg: Registry[str] = Registry("thing")
    reg.register("x")(lambda: "x")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("x")(lambda: "y")
    with pytest.raises(SwaplabError, match="unknown thing 'nope'; choose one of: x"):
        reg.get("nope")
