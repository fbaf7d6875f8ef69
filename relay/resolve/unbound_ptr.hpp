// unbound_ptr: the one place where libunbound objects get their deleters.
// Everything else holds them in these unique_ptrs; no ub_*_delete or
// ub_resolve_free calls elsewhere. Add a line here when a new type is needed.
#pragma once

#include <unbound.h>
#include <memory>

#include "relay/handle/free_deleter.hpp"

namespace chainmail::resolve {

using UbCtxPtr = std::unique_ptr<ub_ctx, handle::FreeDeleter<ub_ctx_delete>>;
using UbResultPtr = std::unique_ptr<ub_result, handle::FreeDeleter<ub_resolve_free>>;

}  // namespace chainmail::resolve
