; Read after ../ecmascript/definitions.scm.

(class_declaration
  name: (identifier) @name) @definition.class

; A class expression; also what a class becomes inside a syntax error.
(class
  name: (identifier) @name) @definition.class
