package emu

// Tagger is implemented by an emulator that reports the tags (labels, or
// a description where a type takes no labels) of the objects it holds,
// for the sandbox's census.
type Tagger interface {
	// Tags maps TagKey(type, id) of every object Objects lists that has
	// tags to them.
	Tags() map[string]map[string]string
}

// TagKey is the key of an object in Tagger.Tags.
func TagKey(typ, id string) string { return typ + " " + id }
