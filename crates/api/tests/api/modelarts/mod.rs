//! The ModelArts face, route by route (spec/modelarts.md, seeds 000–002).

mod delete;
mod groups;
mod isolation;
mod list;
mod malformed;
mod register;
mod seeds;
