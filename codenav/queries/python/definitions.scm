(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(type_alias_statement
  left: (type (identifier) @name)) @definition.type

; Module-level names only: locals and attributes would drown the map.
(module
  (expression_statement
    (assignment
      left: (identifier) @name) @definition.variable))
