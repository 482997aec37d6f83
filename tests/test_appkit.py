"""Pure helpers of the app, without a Streamlit runtime."""

from __future__ import annotations

import appkit


def test_no_ice_servers_by_default_so_localhost_works_offline() -> None:
    assert appkit.ice_servers(env={}, secrets={}) == []


def test_turn_server_from_environment() -> None:
    env = {"FER_TURN_URLS": "turn:turn.example.org:3478, turns:turn.example.org:5349",
           "FER_TURN_USERNAME": "u", "FER_TURN_CREDENTIAL": "p"}
    assert appkit.ice_servers(env=env, secrets=None) == [
        {"urls": ["turn:turn.example.org:3478", "turns:turn.example.org:5349"], "username": "u", "credential": "p"}]


def test_turn_server_from_secrets_wins_over_environment() -> None:
    secrets = {"turn": {"urls": "turn:a.example:3478", "username": "s", "credential": "c"}}
    env = {"FER_TURN_URLS": "turn:b.example:3478"}
    assert appkit.ice_servers(env=env, secrets=secrets) == [
        {"urls": ["turn:a.example:3478"], "username": "s", "credential": "c"}]
