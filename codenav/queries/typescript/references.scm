; Read after ../ecmascript/references.scm.
(type_identifier) @reference
