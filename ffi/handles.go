package main

import "sync"

// firstHandle is the first handle issued. Like libtailscale's descriptors it
// starts far from 0, so 0, small stray integers and uninitialised memory are
// never live handles.
const firstHandle = 42<<16 + 1

// handleTable holds the result objects callers hold handles to. A handle is
// issued once and never reused; an unknown or freed handle is an
// invalidHandleError, never a crash.
type handleTable struct {
	mu      sync.RWMutex
	next    uint64
	objects map[uint64]any
}

func newHandleTable() *handleTable {
	return &handleTable{next: firstHandle, objects: map[uint64]any{}}
}

// handles is the process's table: results outlive tasker_shutdown, so it is
// not part of the engine state.
var handles = newHandleTable()

// put stores v and returns its handle.
func (t *handleTable) put(v any) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.next
	t.next++
	t.objects[h] = v
	return h
}

// get returns the object behind h.
func (t *handleTable) get(h uint64) (any, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.objects[h]
	if !ok {
		return nil, &invalidHandleError{handle: h}
	}
	return v, nil
}

// freer is an object that lets go of more than memory when its handle is
// freed (a dispatcher stops); onFree must not block.
type freer interface{ onFree() }

// free drops h; a second free of the same handle is an error.
func (t *handleTable) free(h uint64) error {
	t.mu.Lock()
	v, ok := t.objects[h]
	delete(t.objects, h)
	t.mu.Unlock()
	if !ok {
		return &invalidHandleError{handle: h}
	}
	if f, ok := v.(freer); ok {
		f.onFree()
	}
	return nil
}

// live counts the handles not yet freed.
func (t *handleTable) live() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.objects)
}
