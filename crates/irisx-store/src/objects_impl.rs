//! The [`ObjectIndex`](irisx_core::ports::objects::ObjectIndex) implementation, written once for both backends.

/// Implements `ObjectIndex` for `$store` (a struct with a `pool` field) by delegating to the shared functions
/// of the invoking module.
macro_rules! impl_object_index {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl irisx_core::ports::objects::ObjectIndex for $store {
            async fn create_object(&self, o: &StoredObject) -> StoreResult<()> {
                create_object(&self.pool, o).await
            }
            async fn get_object(&self, t: &TenantId, id: &ObjectId) -> StoreResult<StoredObject> {
                get_object(&self.pool, Some(t), id).await
            }
            async fn get_object_any(&self, id: &ObjectId) -> StoreResult<StoredObject> {
                get_object(&self.pool, None, id).await
            }
        }
    };
}
pub(crate) use impl_object_index;
