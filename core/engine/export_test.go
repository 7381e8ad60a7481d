package engine

// RescueLockKey lets tests hold the lease-rescue leader lock.
const RescueLockKey = rescueLockKey
