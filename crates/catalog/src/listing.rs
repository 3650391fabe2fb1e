//! What each face lists, named once: a face chooses a [`Listing`]; the catalog adds its
//! filters to the face's own.

use crate::ids::ProjectId;
use crate::image::{ContainerFormat, Status, Visibility};
use crate::query::Filter;

/// A listing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The container images the caller may see: what ModelArts and SCNet list, the images
    /// their notebooks and training jobs can run (registered through them, or created
    /// through Glance with `container_format: docker`).
    Containers,
    /// The caller's own container images that are not public (SCNet's `access=private`).
    OwnUnpublishedContainers,
    /// The public container images, built-in ones included (SCNet's `access=public`).
    PublicContainers,
    /// Every image the caller may see but killed and deleted ones, which Glance never
    /// lists.
    Images,
}

impl Listing {
    /// The filters that make this listing, for a list in `project`.
    pub fn filters(self, project: &ProjectId) -> Vec<Filter> {
        let containers = Filter::ContainerFormat(vec![ContainerFormat::Docker]);
        match self {
            Listing::Containers => vec![containers],
            Listing::OwnUnpublishedContainers => vec![
                containers,
                Filter::Visibility(vec![Visibility::Private, Visibility::Shared, Visibility::Community]),
                Filter::Owner(project.clone()),
            ],
            Listing::PublicContainers => vec![containers, Filter::Visibility(vec![Visibility::Public])],
            Listing::Images => vec![Filter::Status(
                Status::ALL.iter().copied().filter(|s| !matches!(s, Status::Killed | Status::Deleted)).collect(),
            )],
        }
    }
}
