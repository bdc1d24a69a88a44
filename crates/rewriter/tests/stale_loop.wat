;; Divides by zero when $i reaches 10 (with $n > 10). At the division, $tmp
;; (local 2) still holds the quotient of the iteration before, which the
;; program never reads again (it is set before its next read): it is stale.
;; $i and $sum carry over from iteration to iteration; $seen is set before
;; the division in the same iteration.
(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $tmp i32) (local $sum i32) (local $seen i32)
    (loop $next
      (local.set $seen (i32.add (local.get $i) (i32.const 100)))
      (local.set $tmp (i32.div_u (local.get $seen) (i32.sub (i32.const 10) (local.get $i))))
      (local.set $sum (i32.add (local.get $sum) (local.get $tmp)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))
