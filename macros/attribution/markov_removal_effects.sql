{#
    Markov removal effects, solved exactly (no simulation) from transition counts, in dbt's Jinja: the chain is a few
    dozen states, so the solve runs in the dbt process and its results enter the warehouse as literals, on every
    engine alike.

    `transitions` is a list of (from_state, to_state, transitions) rows. States: (start), one per partner, and the
    absorbing (conversion) and (null). With Q the probabilities among the transient states (counts / all counts out
    of the from-state) and r the probabilities into (conversion), the fundamental matrix N = (I - Q)^-1 gives the
    probability of ending in (conversion) from each state, x = N r, and the chain's conversion probability P = x[(start)].
    Removing partner k sends every transition into k to (null): column k of Q becomes zero, a rank-one change of
    I - Q, so by the Sherman-Morrison formula the conversion probability falls by exactly
        P - P_k = N[(start), k] x[k] / N[k, k]
    (N[k, k] >= 1: a journey at k is there at least once). RE(k) = (P - P_k) / P, the share of conversions lost
    without k, clipped to [0, 1] against rounding; 0 when P = 0. N comes from one Gauss-Jordan inversion with
    partial pivoting; the same probabilities solved state by state agree to rounding.

    Returns one dict per partner (sorted by id): partner_id, removal_effect, conversion_probability,
    conversion_probability_without_partner, transitions_from_partner. No transitions: an empty list.
#}
{% macro markov_removal_effects(transitions) %}
    {%- set start, conversion, null_state = '(start)', '(conversion)', '(null)' -%}
    {%- set counts = {} -%}
    {%- set outgoing = {} -%}
    {%- for row in transitions -%}
        {%- set count = row[2] | float -%}
        {%- do counts.update({(row[0], row[1]): counts.get((row[0], row[1]), 0.0) + count}) -%}
        {%- do outgoing.update({row[0]: outgoing.get(row[0], 0.0) + count}) -%}
    {%- endfor -%}
    {%- set partner_names = [] -%}
    {%- for pair in counts -%}
        {%- for state in pair if state not in (start, conversion, null_state) and state not in partner_names -%}
            {%- do partner_names.append(state) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set partners = partner_names | sort(case_sensitive=true) -%}
    {%- set states = [start] + partners -%}
    {%- set size = states | length -%}
    {%- set position = {} -%}
    {%- for state in states -%}
        {%- do position.update({state: loop.index0}) -%}
    {%- endfor -%}

    {#- rows[i] = row i of [I - Q | I]; into_conversion[i] = r[i] -#}
    {%- set rows = {} -%}
    {%- set into_conversion = {} -%}
    {%- for i in range(size) -%}
        {%- set row = [] -%}
        {%- for j in range(2 * size) -%}
            {%- do row.append(1.0 if j == i or j == i + size else 0.0) -%}
        {%- endfor -%}
        {%- do rows.update({i: row}) -%}
        {%- do into_conversion.update({i: 0.0}) -%}
    {%- endfor -%}
    {%- for pair, count in counts.items() if pair[0] in position -%}
        {%- set probability = count / outgoing[pair[0]] -%}
        {%- set i = position[pair[0]] -%}
        {%- if pair[1] == conversion -%}
            {%- do into_conversion.update({i: into_conversion[i] + probability}) -%}
        {%- elif pair[1] in position -%}
            {%- set j = position[pair[1]] -%}
            {%- do rows.update({i: rows[i][:j] + [rows[i][j] - probability] + rows[i][j + 1:]}) -%}
        {%- endif -%}
    {%- endfor -%}

    {#- Gauss-Jordan with partial pivoting: [I - Q | I] becomes [I | N]. Left of the pivot column every row other
        than a pivot row is already zero, so each row operation starts at the pivot column. -#}
    {%- for column in range(size) -%}
        {%- set pivot = namespace(row=column, size=rows[column][column] | abs) -%}
        {%- for i in range(column + 1, size) if (rows[i][column] | abs) > pivot.size -%}
            {%- set pivot.row = i -%}
            {%- set pivot.size = rows[i][column] | abs -%}
        {%- endfor -%}
        {%- if pivot.row != column -%}
            {%- do rows.update({column: rows[pivot.row], pivot.row: rows[column]}) -%}
        {%- endif -%}
        {%- set diagonal = rows[column][column] -%}
        {%- set scaled = rows[column][:column] -%}
        {%- for value in rows[column][column:] -%}
            {%- do scaled.append(value / diagonal) -%}
        {%- endfor -%}
        {%- do rows.update({column: scaled}) -%}
        {%- for i in range(size) if i != column and rows[i][column] != 0.0 -%}
            {%- set factor = rows[i][column] -%}
            {%- set reduced = rows[i][:column] -%}
            {%- for j in range(column, 2 * size) -%}
                {%- do reduced.append(rows[i][j] - factor * scaled[j]) -%}
            {%- endfor -%}
            {%- do rows.update({i: reduced}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set inverse = {} -%}
    {%- for i in range(size) -%}
        {%- do inverse.update({i: rows[i][size:]}) -%}
    {%- endfor -%}

    {#- x = N r -#}
    {%- set x = {} -%}
    {%- for i in range(size) -%}
        {%- set total = namespace(value=0.0) -%}
        {%- for j in range(size) -%}
            {%- set total.value = total.value + inverse[i][j] * into_conversion[j] -%}
        {%- endfor -%}
        {%- do x.update({i: total.value}) -%}
    {%- endfor -%}
    {%- set base = x[0] if size > 0 else 0.0 -%}

    {%- set effects = [] -%}
    {%- for partner in partners -%}
        {%- set k = position[partner] -%}
        {%- set drop = inverse[0][k] * x[k] / inverse[k][k] -%}
        {%- set effect = ([[drop / base, 0.0] | max, 1.0] | min) if base > 0 else 0.0 -%}
        {%- do effects.append({
            'partner_id': partner,
            'removal_effect': effect,
            'conversion_probability': base,
            'conversion_probability_without_partner': base - drop,
            'transitions_from_partner': outgoing.get(partner, 0.0) | int,
        }) -%}
    {%- endfor -%}
    {{- return(effects) -}}
{% endmacro %}


{#
    A string as a SQL literal: single quotes doubled.
#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
