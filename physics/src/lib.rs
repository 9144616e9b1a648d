//! Physics for GSP worlds: rapier3d stepped inside the engine's *simulate* stage.
//!
//! This crate will own rigid bodies, the kinematic character controller that
//! moves avatars (gravity, slopes, steps), and trigger volumes, kept in sync
//! with the ECS so that only what changed touches rapier. Until it lands, the
//! engine moves avatars kinematically in `gsp_engine::systems::simulate`, on a
//! flat floor bounded by the rooms of the map.
//!
//! It depends on `gsp-engine` and never the other way round: the composition
//! root (`gsp world`) adds its systems to the engine's schedule.
