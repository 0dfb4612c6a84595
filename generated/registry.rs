// @generated placeholder: replaced by `esmm-codegen emit --set shipped`.
/// Every shipped variant, in name order.
pub static REGISTRY: &[RegistryEntry] = &[];
