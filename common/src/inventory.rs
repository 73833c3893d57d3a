//! Inventory: placeholder until the loader lands.
