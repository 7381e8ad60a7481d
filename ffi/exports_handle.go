package main

// #include <stdint.h>
import "C"

import "github.com/goccy/go-json"

// The handle accessors. None blocks or touches the database; all work after
// tasker_shutdown.

//export tasker_handle_json
func tasker_handle_json(h C.uint64_t, out **C.char, len_out *C.int64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	v, err := lookup(h, err_out, out != nil)
	if err != nil {
		return fail(err_out, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fail(err_out, err)
	}
	*out = cBytes(b)
	if len_out != nil {
		*len_out = C.int64_t(len(b))
	}
	return rcOK
}

//export tasker_handle_int64
func tasker_handle_int64(h C.uint64_t, field *C.char, out *C.int64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	v, err := lookup(h, err_out, out != nil)
	if err != nil {
		return fail(err_out, err)
	}
	if field == nil {
		return fail(err_out, nullArg("field"))
	}
	n, err := int64Field(v, C.GoString(field))
	if err != nil {
		return fail(err_out, err)
	}
	*out = C.int64_t(n)
	return rcOK
}

//export tasker_handle_kind
func tasker_handle_kind(h C.uint64_t, out **C.char, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	v, err := lookup(h, err_out, out != nil)
	if err != nil {
		return fail(err_out, err)
	}
	*out = cBytes([]byte(kindName(v)))
	return rcOK
}

//export tasker_handle_free
func tasker_handle_free(h C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if err_out != nil {
		*err_out = nil
	}
	if err := handles.free(uint64(h)); err != nil {
		return fail(err_out, err)
	}
	return rcOK
}

// lookup clears *err_out, checks the out-pointer and returns h's object.
func lookup(h C.uint64_t, err_out **C.char, outOK bool) (any, error) {
	if err_out != nil {
		*err_out = nil
	}
	if !outOK {
		return nil, nullArg("out")
	}
	return handles.get(uint64(h))
}
