//! The embedded JavaScript runtime: VU coroutines, the module loader and k6's module surface.
