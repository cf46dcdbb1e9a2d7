; Shared by JavaScript, TypeScript and TSX: these nodes are named alike in all three.

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

; `const f = () => ...` is how much of modern code declares functions.
([(lexical_declaration
   (variable_declarator
     name: (identifier) @name
     value: [(arrow_function) (function_expression) (generator_function)]))
  (variable_declaration
   (variable_declarator
     name: (identifier) @name
     value: [(arrow_function) (function_expression) (generator_function)]))] @definition.function)

; `Foo.prototype.bar = function () {}` and `exports.bar = () => {}`.
(expression_statement
  (assignment_expression
    left: (member_expression
      property: (property_identifier) @name)
    right: [(arrow_function) (function_expression)]) @definition.function)

(program
  [(lexical_declaration (variable_declarator name: (identifier) @name))
   (variable_declaration (variable_declarator name: (identifier) @name))] @definition.variable)

(program
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator name: (identifier) @name)) @definition.variable))
