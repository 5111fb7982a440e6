// The store's cached form of an object (plugin::Object: text, name, uid, labels, selectable fields)
// built from an object read elsewhere, such as a remote API server's answer, so that informers over
// HTTP hold exactly what informers over the store hold.
#pragma once

#include "kernel/store/object_store.hpp"

namespace skiff::kernel {

// `object` must carry metadata.name; its metadata.resourceVersion (a decimal string) is kept.
ObjectPtr object_from_json(const ResourceType& type, Json object);

}  // namespace skiff::kernel
