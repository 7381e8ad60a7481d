package store

import (
	"strconv"

	"github.com/goccy/go-json"
)

func unmarshalJSON(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
