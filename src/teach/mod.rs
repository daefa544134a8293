//! What every teaching demo stands on, shared by the lifecycle demos (`zombies demo`) and the
//! IPC demos (`zombies ipc demo`): [`narrate`] tells the numbered steps and their evidence
//! (text for people, one JSON Lines schema for scripts), [`runtime`] owns the signals, the
//! children and the cleanup, and [`probe`] reads the evidence from /proc.

pub mod probe;
