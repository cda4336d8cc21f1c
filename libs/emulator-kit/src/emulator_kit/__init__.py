"""What the upstream emulators (emulators/*) share, and nothing upstream-specific.

Why a library of its own: the emulators are kept independent of each other (an
import contract), yet several of them must mint the same throw-away certificates
(:mod:`emulator_kit.pki`) and check the same OAuth2 client-credentials requests
(:mod:`emulator_kit.oauth`). Each emulator keeps its upstream's names, lifetimes
and error bodies and hands them to the kit as parameters. No service depends on
this library: it is for emulators and tests only.
"""
