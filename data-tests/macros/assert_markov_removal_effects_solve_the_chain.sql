{#
    markov_removal_effects on chains worked by hand. Returns the cases whose result differs from the hand-computed
    one (by more than 1e-12) or that are missing or unexpected.

    hand_worked: (start)>A 4, (start)>B 4, A>B 2, A>(null) 2, B>(conversion) 3, B>(null) 3; every probability out of
      a state is 1/2. x_B = 1/2, x_A = 1/2 x_B = 1/4, P = 1/2 x_A + 1/2 x_B = 3/8. Without A: P_A = 1/2 x_B = 1/4,
      RE(A) = 1 - (1/4)/(3/8) = 1/3. Without B nothing converts: P_B = 0, RE(B) = 1.
    split_counts: the same chain with (start)>A given as 1 + 3 and B>(null) as 2 + 1: counts of a pair add up.
    cycle: (start)>A 2, (start)>B 1, A>B 2, A>(null) 1, B>(conversion) 2, B>A 1. x_A = 2/3 x_B,
      x_B = 2/3 + 1/3 x_A, so x_B = 6/7, x_A = 4/7, P = 2/3 x 4/7 + 1/3 x 6/7 = 2/3. Without A: x_B = 2/3,
      P_A = 1/3 x 2/3 = 2/9, RE(A) = 2/3. Without B: A only reaches (null), P_B = 0, RE(B) = 1.
    never_converts: (start)>A 1, A>(null) 1: P = 0, and the removal effect is 0, not a division by zero.
    no_transitions: no rows at all.
#}
{%- set cases = {
    'hand_worked': [
        ['(start)', 'A', 4], ['(start)', 'B', 4], ['A', 'B', 2], ['A', '(null)', 2],
        ['B', '(conversion)', 3], ['B', '(null)', 3],
    ],
    'split_counts': [
        ['(start)', 'A', 1], ['(start)', 'B', 4], ['A', 'B', 2], ['(start)', 'A', 3], ['A', '(null)', 2],
        ['B', '(conversion)', 3], ['B', '(null)', 2], ['B', '(null)', 1],
    ],
    'cycle': [
        ['(start)', 'A', 2], ['(start)', 'B', 1], ['A', 'B', 2], ['A', '(null)', 1],
        ['B', '(conversion)', 2], ['B', 'A', 1],
    ],
    'never_converts': [['(start)', 'A', 1], ['A', '(null)', 1]],
    'no_transitions': [],
} -%}
{%- set solved = [] -%}
{%- for case_name, transitions in cases.items() -%}
    {%- for effect in markov_removal_effects(transitions) -%}
        {%- do solved.append([case_name, effect]) -%}
    {%- endfor -%}
{%- endfor -%}
with

actual as (

    {% for case_name, effect in solved -%}
        select
            '{{ case_name }}' as case_name,
            '{{ effect.partner_id }}' as partner_id,
            cast('{{ effect.removal_effect }}' as float8) as removal_effect,
            cast('{{ effect.conversion_probability }}' as float8) as conversion_probability,
            cast('{{ effect.conversion_probability_without_partner }}' as float8) as probability_without,
            {{ effect.transitions_from_partner }} as transitions_from_partner
        {% if not loop.last %}union all
        {% endif -%}
    {%- endfor %}

),

expected as (

    {% for case_name in ['hand_worked', 'split_counts'] -%}
        select
            '{{ case_name }}' as case_name,
            'A' as partner_id,
            cast(1 as float8) / 3 as removal_effect,
            cast(3 as float8) / 8 as conversion_probability,
            cast(1 as float8) / 4 as probability_without,
            4 as transitions_from_partner
        union all
        select
            '{{ case_name }}' as case_name,
            'B' as partner_id,
            cast(1 as float8) as removal_effect,
            cast(3 as float8) / 8 as conversion_probability,
            cast(0 as float8) as probability_without,
            6 as transitions_from_partner
        union all
    {% endfor -%}
    select
        'cycle' as case_name,
        'A' as partner_id,
        cast(2 as float8) / 3 as removal_effect,
        cast(2 as float8) / 3 as conversion_probability,
        cast(2 as float8) / 9 as probability_without,
        3 as transitions_from_partner
    union all
    select
        'cycle' as case_name,
        'B' as partner_id,
        cast(1 as float8) as removal_effect,
        cast(2 as float8) / 3 as conversion_probability,
        cast(0 as float8) as probability_without,
        3 as transitions_from_partner
    union all
    select
        'never_converts' as case_name,
        'A' as partner_id,
        cast(0 as float8) as removal_effect,
        cast(0 as float8) as conversion_probability,
        cast(0 as float8) as probability_without,
        1 as transitions_from_partner

),

final as (

    select
        coalesce(actual.case_name, expected.case_name) || ' ' || coalesce(actual.partner_id, expected.partner_id)
        || case
            when actual.partner_id is null then ': missing'
            when expected.partner_id is null then ': unexpected'
            else ': differs'
        end as case_name
    from actual
    full outer join expected
        on actual.case_name = expected.case_name
        and actual.partner_id = expected.partner_id
    where actual.partner_id is null
        or expected.partner_id is null
        or abs(actual.removal_effect - expected.removal_effect) > 1e-12
        or abs(actual.conversion_probability - expected.conversion_probability) > 1e-12
        or abs(actual.probability_without - expected.probability_without) > 1e-12
        or actual.transitions_from_partner <> expected.transitions_from_partner

)

select * from final
