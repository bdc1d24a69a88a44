;; After a loop without calls, `$work` calls `$fail`, which divides by zero.
;; At that call the program reads only $sum again; $i, $named and $unnamed
;; (locals 1-3) hold values of the loop's last iteration that it never reads
;; again. $work has 12 locals, more than a trampoline takes: its frame is
;; recorded by its landing pad.
(module
  (memory (export "memory") 1)
  (func $fail (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $work (param $n i32) (result i32)
    (local $i i32) (local $named i32) (local $unnamed i32) (local $sum i32)
    (local $c5 i32) (local $c6 i32) (local $c7 i32) (local $c8 i32)
    (local $c9 i32) (local $c10 i32) (local $c11 i32)
    (local.set $c5 (i32.const 5)) (local.set $c6 (i32.const 6))
    (local.set $c7 (i32.const 7)) (local.set $c8 (i32.const 8))
    (local.set $c9 (i32.const 9)) (local.set $c10 (i32.const 10))
    (local.set $c11 (i32.const 11))
    (loop $next
      (local.set $named (i32.mul (local.get $i) (i32.const 3)))
      (local.set $unnamed (i32.add (local.get $i) (i32.const 100)))
      (local.set $sum (i32.add (local.get $sum) (i32.add (local.get $named) (local.get $unnamed))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (call $fail (i32.const 0)) (local.get $sum)))
  (func (export "run") (param i32) (result i32) (call $work (local.get 0))))
